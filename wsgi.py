"""The WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi …``."""

from discuss import create_app

app = create_app()

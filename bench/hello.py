"""The ceiling: a hello-world Flask endpoint, served by gunicorn exactly like discuss."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def hello():
    return jsonify({"hello": "world"})

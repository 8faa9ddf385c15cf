"""`make bench`: discuss against Isso and a hello-world Flask app, same server, same load."""

"""The benchmark's ceiling: the smallest Flask app, served by gunicorn exactly like the shop.

``bench.py`` divides each endpoint's req/s by this app's, so the ratios say how much of the
stack's budget (gunicorn + Flask on this machine) our own code uses.
"""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok"

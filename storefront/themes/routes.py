"""Public theme stylesheet routes (being built)."""
from flask import Blueprint

bp = Blueprint("themes", __name__)

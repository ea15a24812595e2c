"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi …`."""
from partnernet import create_app
from partnernet.process import tune_garbage_collector

app = create_app()
tune_garbage_collector()  # a long-running process from here on (partnernet/process.py says why)

"""The draw-a-digit page: the server (server), the Python reference of the page's image
preprocessing (preprocess), and the static page itself (static/: HTML, CSS, JavaScript).
Run it with `python -m nn.serve`.
"""

"""Pictures of networks: neurons and weights in Nielsen's notation and a model's loss graph
(network), a page stepping through a model's backprop (explore), what a convolutional net
learned, its filters and feature maps (conv), and attention weights as heat maps (attention).
Graphviz for graphs, matplotlib Figures (no pyplot) for images.
"""

from .attention import draw_attention
from .conv import draw_conv_graph, draw_feature_maps, draw_filters
from .explore import explore_model
from .network import draw_model_graph, draw_network

__all__ = [
    "draw_attention",
    "draw_conv_graph",
    "draw_feature_maps",
    "draw_filters",
    "draw_model_graph",
    "draw_network",
    "explore_model",
]

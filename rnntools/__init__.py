"""rnntools: word vectors and recurrent neural networks from the shell."""

__version__ = "0.1.0"

"""Model inference executors (huggingface, vllm, api): one module each, with its spec beside it.

This package imports only the standard library at import time: validation reads the specs; the
executors import torch/transformers/openai inside their functions.
"""

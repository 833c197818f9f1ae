"""Video evaluation: the caption's camera motion, features of a video detector, and the
Fréchet/kernel/Inception distances of the ``video_inception_evaluator``."""

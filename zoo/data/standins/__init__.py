"""Generated offline stand-ins (is_standin=True): shapes scenes, shape clips and captions, scikit-learn digits."""

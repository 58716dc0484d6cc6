"""One router per resource; ``segmint.api.app`` mounts them."""

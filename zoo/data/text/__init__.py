"""Captioned images and videos: COCO captions, Flickr30k, TACoS Multi-Level."""

"""Context prediction (Doersch, Gupta & Efros, ICCV 2015): a pair network that predicts where
patch B lies relative to patch A, learning features without labels."""

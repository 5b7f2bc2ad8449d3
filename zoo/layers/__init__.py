"""Layers the papers need and Keras lacks. Import them from their modules, e.g.
`from zoo.layers.lrn import LocalResponseNormalization`."""

"""Looking inside trained networks: the visualization methods of Laptev's slides §A.7 and Long's
thesis ch. 2, for any registered image model, addressed by layer name.

    fields      receptive fields (size, stride, offset) per layer; a unit's input box (Long Table 2.1)
    patches     top-k patches per feature map over a dataset (Zeiler & Fergus; R-CNN's pool5 units)
    occlusion   sliding-occluder maps: p(true class), most probable class, strongest map's activation
    backprop    gradient saliency, guided backpropagation, deconvnet projections
    optimize    inversion (pre-image with TV priors), activation maximisation
    art         DeepDream (octaves, jitter) and Gatys style transfer
    embed       t-SNE of a layer's features
    reconstruct Long's nonparametric patch reconstruction (§2.1)
    mrf         the flow MRF of Long §2.2, loopy BP with the squared-distance transform
    flow        conv-feature flow vs SIFT flow, spline warping, keypoint transfer (Long §2.2, Table 2.2)
    keypoints   keypoint classification and prediction (Long §2.3-2.4, Tables 2.3, 2.4)
    retrieval   nearest neighbours by a named layer's features (context-prediction tower, fc7)
    cli         `zoo visualize ...` writing PNGs

Everything is written with keras.ops, so it runs on the TensorFlow and JAX backends; the only
backend-specific code is the input gradient in `zoo.visualize.core.value_and_grad`.
"""

"""Long's pairwise region networks (thesis ch. 4): class-agnostic object segments from a VGG-16
feature pyramid (`region_pairwise_vgg16`) and the single-convolution baseline (`region_single_conv`)."""

"""DCGAN generator and discriminator of Oquab thesis App. C (Radford et al. 2016), and the trainable pair."""

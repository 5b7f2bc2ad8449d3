"""BiGAN (Donahue thesis ch. 5): encoder, generator and joint discriminator, and the trainable triple."""

"""Conditional GANs on 1-D cause-effect pairs, the generators and critics of CGAN-C2ST (Oquab thesis §5.4.2)."""

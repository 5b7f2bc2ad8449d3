"""Region-based detectors: R-CNN (Girshick, Donahue, Darrell, Malik 2014; Donahue thesis ch. 3) and
Fast R-CNN (Girshick 2015), on the CaffeNet ("T-Net") and VGG-16 ("O-Net") trunks."""

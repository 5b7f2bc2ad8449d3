"""Video datasets: UCF101 clips and their optical-flow images."""

"""zoo.metrics"""

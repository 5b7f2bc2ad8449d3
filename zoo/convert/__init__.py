"""zoo.convert"""

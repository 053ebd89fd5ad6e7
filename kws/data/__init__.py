"""Corpora, splits, augmentation and feature preparation for training and evaluation."""

"""Evaluation: metrics (VOC07, VOC area, COCO), predict-and-score over a data set, PR plots."""

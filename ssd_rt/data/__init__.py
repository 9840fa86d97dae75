"""Data: generated scenes now; VOC, COCO and YOLO loaders and the SSD augmentation later."""

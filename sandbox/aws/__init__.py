"""Local AWS stand-in: moto's server (S3, SQS, SageMaker) with a faithful SageMaker Model Registry in front,
an EventBridge-to-SQS stand-in for model package events, fault switches and request counters.

Start it with ``python -m sandbox.aws --port PORT``; see sandbox/README.md.
"""

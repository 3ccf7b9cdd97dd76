"""Local stand-ins for AWS (SageMaker Model Registry, S3, SQS) and Jira, for the demo and the tests."""

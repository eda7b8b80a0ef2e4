"""Provision, inspect, update, roll back and tear down the guide's ECS stack with boto3."""

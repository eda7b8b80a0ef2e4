"""A local AWS account that runs things: the embedded moto server and its data plane.

Backend selection (deploy.aws.backend) starts it; resources and models never import it.
"""

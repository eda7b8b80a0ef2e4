"""Model what AWS would do (rollouts, scaling, cost, policies) from its documented rules."""

#!/bin/bash
# LocalStack runs this once it is ready (mounted at /etc/localstack/init/ready.d).
# It says which of the services the workbook's stack uses this LocalStack offers, so a
# missing paid-plan service shows up in `docker compose logs localstack`, not as a
# stack trace halfway through `workbook stack apply --backend localstack`.
set -u
health=$(curl -s http://localhost:4566/_localstack/health)
for svc in iam sts secretsmanager logs ec2 s3 dynamodb ecr ecs elbv2 application-autoscaling budgets; do
  state=$(printf '%s' "$health" | python3 -c "import json,sys; print(json.load(sys.stdin).get('services',{}).get('$svc','missing'))")
  case "$state" in
    available|running) echo "workbook: $svc ok ($state)" ;;
    *) echo "workbook: $svc NOT available ($state): needs a LocalStack plan that includes it" ;;
  esac
done

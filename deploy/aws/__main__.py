"""`python -m deploy.aws ...`: the AWS CLI v1 with the workbook's plugins (`aws logs tail`)."""

import sys

from deploy.aws.cli import driver

if __name__ == "__main__":
    sys.exit(driver().main(sys.argv[1:]))

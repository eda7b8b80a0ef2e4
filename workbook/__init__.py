"""The workbook's command line and glue: one `workbook` command for every package."""

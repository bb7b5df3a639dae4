"""DynamoDB access, one repository per aggregate. The only code that speaks DynamoDB."""

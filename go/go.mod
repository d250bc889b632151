module github.com/graceful-shutdown/graceful-shutdown-lambda/go

go 1.26

require github.com/aws/aws-lambda-go v1.55.1

#!/bin/sh
# LocalStack init hook: the development bucket, with the CORS a browser upload
# needs (dev-bucket-cors.json, also used by npm run s3 and npm run create-bucket).
set -eu
awslocal s3 mb s3://access-broker-dev
awslocal s3api put-bucket-cors --bucket access-broker-dev --cors-configuration file:///etc/localstack/dev-bucket-cors.json

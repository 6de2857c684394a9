#!/bin/sh
# LocalStack init hook: the development bucket, with the CORS a browser upload
# needs (multipart clients read ETag, so it must be exposed).
set -eu
awslocal s3 mb s3://access-broker-dev
awslocal s3api put-bucket-cors --bucket access-broker-dev --cors-configuration '{
  "CORSRules": [{
    "AllowedOrigins": ["http://localhost:3000", "http://localhost:5173", "http://localhost:8080"],
    "AllowedMethods": ["GET", "PUT", "POST", "HEAD"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": ["ETag"],
    "MaxAgeSeconds": 600
  }]
}'

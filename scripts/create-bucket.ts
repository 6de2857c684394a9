import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DEVELOPMENT_S3 } from '../src/config/load.js';

// Creates the development bucket (or S3_BUCKET) on S3_ENDPOINT; LocalStack takes any key with the secret "test".
const bucket = process.env.S3_BUCKET ?? DEVELOPMENT_S3.bucket;
const client = new S3Client({
  region: process.env.AWS_REGION ?? DEVELOPMENT_S3.region,
  endpoint: process.env.S3_ENDPOINT ?? DEVELOPMENT_S3.endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test' },
});
try {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  process.stdout.write(`created bucket ${bucket}\n`);
} catch (error) {
  const name = (error as { name?: string }).name;
  if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  process.stdout.write(`bucket ${bucket} already exists\n`);
} finally {
  client.destroy();
}

import { readFile } from 'node:fs/promises';
import { CreateBucketCommand, PutBucketCorsCommand, S3Client } from '@aws-sdk/client-s3';
import type { CORSRule } from '@aws-sdk/client-s3';
import { DEVELOPMENT_S3 } from '../src/config/load.js';

// Creates the development bucket (or S3_BUCKET) on S3_ENDPOINT and gives it the CORS a browser
// upload needs; LocalStack takes any key with the secret "test". `--no-cors` skips the CORS.
// Used by `npm run create-bucket` and scripts/local-s3.sh (`npm run s3`).

/** The development bucket's CORS, shared with docker/localstack-ready.sh: the dev front ends' origins; multipart clients read ETag. */
const { CORSRules: DEVELOPMENT_CORS } = JSON.parse(await readFile(new URL('../docker/dev-bucket-cors.json', import.meta.url), 'utf8')) as {
  CORSRules: CORSRule[];
};

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== '--no-cors');
if (unknown.length > 0) {
  process.stderr.write(`unknown argument ${unknown.join(' ')}; usage: create-bucket [--no-cors]\n`);
  process.exit(2);
}
const bucket = process.env.S3_BUCKET ?? DEVELOPMENT_S3.bucket;
const client = new S3Client({
  region: process.env.AWS_REGION ?? DEVELOPMENT_S3.region,
  endpoint: process.env.S3_ENDPOINT ?? DEVELOPMENT_S3.endpoint,
  forcePathStyle: true,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test' },
});
try {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    process.stdout.write(`created bucket ${bucket}\n`);
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
    process.stdout.write(`bucket ${bucket} already exists\n`);
  }
  if (!args.includes('--no-cors')) {
    // Replaces whatever CORS the bucket had, so a rerun also repairs it.
    await client.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: DEVELOPMENT_CORS } }));
    process.stdout.write(`CORS set on ${bucket} for ${DEVELOPMENT_CORS.flatMap((rule) => rule.AllowedOrigins ?? []).join(', ')}\n`);
  }
} finally {
  client.destroy();
}

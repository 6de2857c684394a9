// Stock @uppy/aws-s3 6.x with the broker's signRequest helper (./broker.js), as the README shows.
import Uppy from '@uppy/core';
import AwsS3 from '@uppy/aws-s3';
import { brokerUploads } from './broker.js';

const MiB = 1024 * 1024;

/** The bytes the test expects back: the same recipe on both sides. */
const bytesOf = (size, seed) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
};

window.uploadWithUppy = async ({ broker, token, files }) => {
  const uppy = new Uppy({ autoProceed: false }).use(AwsS3, {
    ...brokerUploads({ brokerUrl: broker, getToken: async () => token }),
    shouldUseMultipart: (file) => file.size > 8 * MiB,
  });
  for (const { name, size, type, seed } of files) uppy.addFile({ name, type, data: new Blob([bytesOf(size, seed)], { type }) });
  const result = await uppy.upload();
  const out = {
    successful: result.successful.map((file) => ({
      name: file.name,
      key: file.s3Multipart?.key ?? file.response?.body?.key ?? file.meta?.key,
    })),
    failed: result.failed.map((file) => ({ name: file.name, error: String(file.error) })),
    keys: result.successful.map((file) => file.response?.uploadURL),
  };
  uppy.destroy();
  return out;
};

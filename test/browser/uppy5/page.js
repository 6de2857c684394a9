// Stock @uppy/aws-s3 5.x against the broker's /s3 routes (Uppy Companion's protocol), as the README shows.
import Uppy from '@uppy/core';
import AwsS3 from '@uppy/aws-s3';

const MiB = 1024 * 1024;

/** The bytes the test expects back: the same recipe on both sides. */
const bytesOf = (size, seed) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
};

window.uploadWithUppy = async ({ broker, token, files }) => {
  const uppy = new Uppy({ autoProceed: false }).use(AwsS3, {
    endpoint: broker, // Uppy appends /s3/...
    headers: { Authorization: `Bearer ${token}` },
    shouldUseMultipart: (file) => file.size > 8 * MiB,
    // The broker's part plan: 8 MiB, or more to stay within 10,000 parts.
    getChunkSize: (file) => Math.max(8 * MiB, Math.ceil(file.size / 10000 / MiB) * MiB),
  });
  // Uppy sends only name and type; the broker needs the size to sign it.
  uppy.on('file-added', (file) => uppy.setFileMeta(file.id, { size: file.size }));
  for (const { name, size, type, seed } of files) uppy.addFile({ name, type, data: new Blob([bytesOf(size, seed)], { type }) });
  const result = await uppy.upload();
  const out = {
    successful: result.successful.map((file) => ({ name: file.name, key: file.response?.body?.key ?? file.s3Multipart?.key })),
    failed: result.failed.map((file) => ({ name: file.name, error: String(file.error) })),
  };
  uppy.destroy();
  return out;
};

// Stock @uppy/aws-s3 5.x against the broker's /s3 routes (Uppy Companion's protocol), as the README shows.
import Uppy from '@uppy/core';
import AwsS3 from '@uppy/aws-s3';
import { uploadFiles } from '../upload-files.js';

const MiB = 1024 * 1024;

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
  return uploadFiles(uppy, files);
};

// Stock @uppy/aws-s3 6.x with the broker's signRequest helper (./broker.js), as the README shows.
import Uppy from '@uppy/core';
import AwsS3 from '@uppy/aws-s3';
import { uploadFiles } from '../upload-files.js';
import { brokerUploads } from './broker.js';

const MiB = 1024 * 1024;

window.uploadWithUppy = async ({ broker, token, files }) => {
  const uppy = new Uppy({ autoProceed: false }).use(AwsS3, {
    ...brokerUploads({ brokerUrl: broker, getToken: async () => token }),
    shouldUseMultipart: (file) => file.size > 8 * MiB,
  });
  return uploadFiles(uppy, files);
};

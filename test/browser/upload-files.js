// The part both Uppy pages share: the test's files, made in the browser with the recipe the test checks in S3.

/** The bytes the test expects back: the same recipe on both sides. */
const bytesOf = (size, seed) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
};

/** Adds the files to a configured Uppy, uploads them, and reports what Uppy says happened. */
export async function uploadFiles(uppy, files) {
  for (const { name, size, type, seed } of files) uppy.addFile({ name, type, data: new Blob([bytesOf(size, seed)], { type }) });
  const result = await uppy.upload();
  const out = {
    successful: result.successful.map((file) => ({ name: file.name })),
    failed: result.failed.map((file) => ({ name: file.name, error: String(file.error) })),
  };
  uppy.destroy();
  return out;
}

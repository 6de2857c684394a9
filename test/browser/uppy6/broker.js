// The page-side half of the broker's Uppy 6 support: pass these options to @uppy/aws-s3 6.x.
// Uppy's signRequest(request) goes to the broker's POST /v1/uploads/uppy-sign with the bearer token, and with
// the file's size, name and type, which Uppy does not pass along (kept here by the key Uppy proposes).
const MiB = 1024 * 1024;

export function brokerUploads({ brokerUrl, getToken }) {
  const files = new Map();
  return {
    generateObjectKey: (file) => {
      const key = `${crypto.randomUUID()}/${file.name}`;
      files.set(key, file);
      return key;
    },
    // The broker's part plan: 8 MiB, or more to stay within 10,000 parts.
    getChunkSize: (file) => Math.max(8 * MiB, Math.ceil(file.size / 10000 / MiB) * MiB),
    signRequest: async (request) => {
      const file = files.get(request.key);
      const body = {
        ...request,
        ...(file
          ? { size: file.size, filename: file.name, contentType: request.contentType ?? (file.type || 'application/octet-stream') }
          : {}),
      };
      const response = await fetch(`${brokerUrl}/v1/uploads/uppy-sign`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await getToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.detail ?? `the broker answered ${response.status}`);
      return answer;
    },
  };
}

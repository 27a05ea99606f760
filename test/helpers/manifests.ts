// Small manifests shared by the App tests.

/** A minimal Deployment `apps/web` running `image`. */
export const webDeployment = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: web
          image: ${image}
`;

//! Object storage for uploaded files (study results): a local folder by default, any
//! S3-compatible service when `STORAGE_S3_BUCKET` is set. The database says which object
//! belongs to what; this module only moves bytes.

use std::{fmt, path::PathBuf, sync::Arc, time::Duration};

use bytes::Bytes;
use config::{SettingsError, env_or};
use futures::stream::BoxStream;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, aws::AmazonS3Builder,
    local::LocalFileSystem, path::Path,
};

/// Where uploaded files go.
#[derive(Clone)]
pub enum StorageSettings {
    /// `STORAGE_DIR`, default `.data/files`.
    Local { dir: PathBuf },
    /// `STORAGE_S3_BUCKET`, with `STORAGE_S3_REGION`, `STORAGE_S3_ENDPOINT` (for
    /// S3-compatible services; path-style requests), `STORAGE_S3_ACCESS_KEY_ID` and
    /// `STORAGE_S3_SECRET_ACCESS_KEY`.
    S3 {
        bucket: String,
        region: String,
        endpoint: Option<String>,
        access_key_id: String,
        secret_access_key: String,
    },
}

impl fmt::Debug for StorageSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local { dir } => f.debug_struct("Local").field("dir", dir).finish(),
            Self::S3 {
                bucket,
                region,
                endpoint,
                ..
            } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("region", region)
                .field("endpoint", endpoint)
                .finish_non_exhaustive(),
        }
    }
}

impl StorageSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        let bucket: String = env_or("STORAGE_S3_BUCKET", String::new())?;
        if bucket.is_empty() {
            return Ok(Self::Local {
                dir: env_or("STORAGE_DIR", PathBuf::from(".data/files"))?,
            });
        }
        let endpoint: String = env_or("STORAGE_S3_ENDPOINT", String::new())?;
        Ok(Self::S3 {
            bucket,
            region: env_or("STORAGE_S3_REGION", "us-east-1".to_owned())?,
            endpoint: (!endpoint.is_empty()).then_some(endpoint),
            access_key_id: env_or("STORAGE_S3_ACCESS_KEY_ID", String::new())?,
            secret_access_key: env_or("STORAGE_S3_SECRET_ACCESS_KEY", String::new())?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("object storage: {0}")]
pub struct StorageError(#[from] object_store::Error);

impl StorageError {
    pub fn is_not_found(&self) -> bool {
        matches!(self.0, object_store::Error::NotFound { .. })
    }
}

/// The configured store, cheap to clone.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
}

impl Storage {
    pub fn open(settings: &StorageSettings) -> anyhow::Result<Self> {
        let store: Arc<dyn ObjectStore> = match settings {
            StorageSettings::Local { dir } => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| anyhow::anyhow!("STORAGE_DIR {}: {e}", dir.display()))?;
                Arc::new(LocalFileSystem::new_with_prefix(dir)?)
            }
            StorageSettings::S3 {
                bucket,
                region,
                endpoint,
                access_key_id,
                secret_access_key,
            } => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key)
                    // A person is waiting on the upload: a few quick retries, then a clear 503.
                    .with_retry(RetryConfig {
                        max_retries: 3,
                        retry_timeout: Duration::from_secs(15),
                        ..RetryConfig::default()
                    })
                    .with_client_options(
                        ClientOptions::new()
                            .with_connect_timeout(Duration::from_secs(3))
                            .with_timeout(Duration::from_secs(60)),
                    );
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                Arc::new(builder.build()?)
            }
        };
        Ok(Self { store })
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.store
            .put(&Path::from(key), PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    /// The object's bytes as a stream.
    pub async fn get(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, object_store::Error>>, StorageError> {
        Ok(self.store.get(&Path::from(key)).await?.into_stream())
    }

    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        Ok(self.store.delete(&Path::from(key)).await?)
    }
}

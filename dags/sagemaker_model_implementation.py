# The DAG lives in the package (model_governance.dags); Airflow finds it as this file's module global.
from model_governance.dags.sagemaker_model_implementation import dag as dag

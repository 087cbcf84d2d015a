from prefect import flow, task


@task
def extract(source: str) -> list:
    return [source]


@flow(name="ETL Daily", log_prints=True)
def etl_daily(source: str = "s3://raw", batch: int = 100):
    print(extract(source), batch)


@flow
async def backfill_orders(days: int = 7):
    print("backfilling", days)

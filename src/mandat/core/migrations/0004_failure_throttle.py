from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_audit_employer_seq"),
    ]

    operations = [
        migrations.CreateModel(
            name="FailureThrottle",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("scope", models.CharField(max_length=32)),
                ("key", models.CharField(max_length=200)),
                ("failures", models.PositiveIntegerField(default=0)),
                ("last_failure_at", models.DateTimeField(db_index=True)),
                ("blocked_until", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "verbose_name": "failure throttle",
                "verbose_name_plural": "failure throttles",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("scope", "key"), name="failurethrottle_unique_key"
                    )
                ],
            },
        ),
    ]

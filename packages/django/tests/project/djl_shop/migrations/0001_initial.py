"""The shop's first migration."""

from django.db import migrations, models


class Migration(migrations.Migration):
    """Create the Item table."""

    initial = True

    dependencies = []  # noqa: RUF012 - Django's own convention

    operations = [  # noqa: RUF012 - Django's own convention
        migrations.CreateModel(
            name="Item",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100, unique=True)),
            ],
        ),
    ]
